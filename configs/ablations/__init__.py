"""One config per ablation row of the main paper's Tables 3 and 4.

Each file is `configs/default.py` with the switches of its row changed, so a row is reproduced by
naming its file: `python -m pipelines.train --config=configs/ablations/r_w_only.py ...`.

Table 3 (loss terms):          Table 4 (choices):
  baseline          (none)       nt_xent              w/ NT-Xent
  si_ss_only        SI-SS        hierarchical         w/ Hierarchical Clustering
  i_s_only          I-S          individual_features  w/ Individual Feature
  r_w_only          R-W          offline              w/ Offline Learning
  sr_w_only         SR-W         no_attention         w/o BWSA
  cluster_only      Cluster      wsa                  w/ WSA
  all_contrastive   SI-SS, I-S, R-W, SR-W             k4, k16, k32, k64   number of clusters
  (all terms: configs/default.py, the "Ours" row of both tables; k = 8 likewise)
"""
import ml_collections

from configs import default

LOSS_TERMS = ("story_image_story_sentence", "image_sentence", "region_word", "story_region_word",
              "cluster")


def with_loss_terms(*enabled: str) -> ml_collections.ConfigDict:
    """The default config with exactly the `enabled` Table 3 terms switched on (GAN and KL stay)."""
    unknown = set(enabled) - set(LOSS_TERMS)
    if unknown:
        raise ValueError(f"unknown loss terms {sorted(unknown)}; expected some of {LOSS_TERMS}")
    config = default.get_config()
    for term in LOSS_TERMS:
        config.losses[term] = term in enabled
    return config


def with_clusters(k: int) -> ml_collections.ConfigDict:
    """The default config with k K-means clusters (Table 4, number of clusters)."""
    config = default.get_config()
    config.clustering.k = k
    return config
