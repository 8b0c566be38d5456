"""`pororo_sv`: Pororo-SV stories (5 clips, 9 character labels per frame) as a TFDS dataset.

One still per clip (the middle one; the config's `train_frame_choice` for train) and its first
caption (`storyvis_tf.data.readers.pororo`). Splits from `train_seen_unseen_ids.npy` (train, val,
test) or `train_test_ids.npy` (train, test: no val split).
"""
from storyvis_tf.data.tfds.story_builder import StoryDatasetBuilder

STORYGAN_CITATION = """@inproceedings{li2019storygan,
  title={StoryGAN: A Sequential Conditional GAN for Story Visualization},
  author={Li, Yitong and Gan, Zhe and Shen, Yelong and Liu, Jingjing and Cheng, Yu and Wu, Yuexin
          and Carin, Lawrence and Carlson, David and Gao, Jianfeng},
  booktitle={CVPR},
  year={2019}
}"""


class PororoSv(StoryDatasetBuilder):
    READER = "pororo"
    DESCRIPTION = ("Pororo-SV (StoryGAN): 5-clip stories of the Pororo cartoon with one caption "
                   "and 9 character labels per frame.")
    HOMEPAGE = "https://github.com/yitong91/StoryGAN"
    CITATION = STORYGAN_CITATION  # the paper that made Pororo-QA into Pororo-SV

    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    Place the Pororo-SV release (pororo_png/) in manual_dir:
      <Series>/<Series>_ep<k>/<n>.png          clips: vertical strips of 128-px frames
      labels.npy, descriptions.npy             dicts image id -> 9 labels / list of captions
      img_cache4.npy, following_cache4.npy     story caches (or frames_counter.npy to rebuild them)
      train_seen_unseen_ids.npy or train_test_ids.npy   the split's cache rows
    """
