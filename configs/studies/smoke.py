"""Smoke study: the whole `python -m pipelines.study` machinery on toy sizes in a few minutes of
CPU (tests/test_study.py runs it). Two rows of configs/smoke.py, the full method and the Table 3
baseline (no contrastive, no clustering term), one seed and 2 training steps each, on 8/4/4
synthetic stories (R-precision: 1 of 4 candidates). The numbers mean nothing; the files, the
shared pretraining and the resuming are what it checks.

  python -m pipelines.study --study=configs/studies/smoke.py --output_dir=runs/study_smoke
"""
from configs.ablations import LOSS_TERMS
from storyvis_tf.study.spec import Row, Study

_TINY = {"pretrain.r_precision_candidates": 4}
_NO_ALIGNMENT = {**_TINY, **{f"losses.{term}": False for term in LOSS_TERMS}}


def get_study():
    return Study(
        name="smoke",
        description="Toy sizes: checks the machinery, not the method.",
        rows=(Row("baseline", "configs/smoke.py", _NO_ALIGNMENT),
              Row("full", "configs/smoke.py", _TINY)),
        seeds=(0,),
        train_steps=2,
        steps_per_epoch=2,
        data={"synthetic_train": 8, "synthetic_val": 4, "synthetic_test": 4},
        evaluation={"domain_epochs": 1, "domain_batch_size": 8, "domain_width": 4,
                    "domain_feature_dim": 8, "sample_stories": 1, "tsne_stories": 0},
        comparison_stories=2,
    )
