"""`clevr_sv`: CLEVR-SV stories (4 frames, one object added per frame) as a TFDS dataset.

Labels: 15 attribute values of the objects shown so far; sentences rendered from the added
object (`storyvis_tf.data.readers.clevr`). Splits by story number: train, val, test.
"""
from storyvis_tf.data.tfds.pororo_sv import STORYGAN_CITATION
from storyvis_tf.data.tfds.story_builder import StoryDatasetBuilder


class ClevrSv(StoryDatasetBuilder):
    READER = "clevr"
    DESCRIPTION = ("CLEVR-SV (StoryGAN): 4-frame stories of CLEVR scenes, one object added per "
                   "frame, with per-frame attribute labels and generated sentences.")
    HOMEPAGE = "https://github.com/yitong91/StoryGAN"
    CITATION = STORYGAN_CITATION  # CLEVR-SV was made for StoryGAN

    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    Place the CLEVR-SV release in manual_dir:
      images/CLEVR_new_<story:06d>_<k>.png   the 4 frames k = 1..4 of each story
      CLEVR_dict.npy                         pickled dict frame file name -> (75,) attributes
    """
