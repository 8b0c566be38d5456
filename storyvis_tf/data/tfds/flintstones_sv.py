"""`flintstones_sv`: Flintstones-SV stories (5 clips, 7 character labels per frame) as a TFDS
dataset.

One still per clip (the middle one; the config's `train_frame_choice` for train) and the clip's
description (`storyvis_tf.data.readers.flintstones`). Splits from `train-val-test_split.json`.
"""
from storyvis_tf.data.tfds.story_builder import StoryDatasetBuilder


class FlintstonesSv(StoryDatasetBuilder):
    READER = "flintstones"
    DESCRIPTION = ("Flintstones-SV: 5-clip stories of the Flintstones dataset with one "
                   "description and 7 character labels per frame.")
    HOMEPAGE = "https://prior.allenai.org/projects/craft"
    CITATION = """@inproceedings{gupta2018imagine,
  title={Imagine This! Scripts to Compositions to Videos},
  author={Gupta, Tanmay and Schwenk, Dustin and Farhadi, Ali and Hoiem, Derek and
          Kembhavi, Aniruddha},
  booktitle={ECCV},
  year={2018}
}"""
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    Place the Flintstones-SV release in manual_dir:
      flintstones_annotations_v1-0.json        clip descriptions and characters
      train-val-test_split.json                {"train": [...], "val": [...], "test": [...]}
      video_frames_sampled/<globalID>.npy      uint8 (5, 128, 128, 3) stills of each clip
      following_cache4.pkl, labels.pkl         optional: rebuilt as the field does when absent
    """
