"""Losses of the contrastive + clustering story GAN, backend-agnostic (keras.ops only)."""
from storyvis_tf.losses.clustering import (assign_to_centroids, cluster_loss,
                                           hierarchical_centroids, kmeans)
from storyvis_tf.losses.contrastive import (contrastive_loss, cosine_similarity_matrix,
                                            mms_loss, nt_xent_loss)
from storyvis_tf.losses.damsm import (damsm_loss, sentence_image_loss, story_region_word_loss,
                                      word_matching_score, word_region_attention,
                                      word_region_loss)
from storyvis_tf.losses.gan import (character_loss, discriminator_gan_loss, generator_gan_loss,
                                    kl_loss)

__all__ = [
    "assign_to_centroids", "character_loss", "cluster_loss", "contrastive_loss",
    "cosine_similarity_matrix", "damsm_loss", "discriminator_gan_loss", "generator_gan_loss",
    "hierarchical_centroids", "kl_loss", "kmeans", "mms_loss", "nt_xent_loss",
    "sentence_image_loss", "story_region_word_loss", "word_matching_score",
    "word_region_attention", "word_region_loss",
]
