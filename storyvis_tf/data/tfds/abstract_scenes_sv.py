"""`abstract_scenes_sv`: Abstract Scenes (AbstractScenes_v1.1) as 5-frame stories, a TFDS dataset.

Each class of 10 scenes drawn from one sentence gives two stories, scenes 0-4 and 5-9; one
sentence per scene; labels are clip-art presence read from Scenes_10020.txt, their names in
`info.metadata["label_names"]` (none without that file); splits by class
(`storyvis_tf.data.readers.abstract_scenes`).
"""
from storyvis_tf.data.tfds.story_builder import StoryDatasetBuilder


class AbstractScenesSv(StoryDatasetBuilder):
    READER = "abstract"
    DESCRIPTION = ("Abstract Scenes (Zitnick & Parikh): clip-art scenes, 10 per seed sentence, "
                   "as 5-frame stories with one sentence and clip-art labels per frame.")
    HOMEPAGE = "http://optimus.cc.gatech.edu/clipart/"
    CITATION = """@inproceedings{zitnick2013bringing,
  title={Bringing Semantics into Focus Using Visual Abstraction},
  author={Zitnick, C. Lawrence and Parikh, Devi},
  booktitle={CVPR},
  year={2013}
}"""
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    Place AbstractScenes_v1.1 in manual_dir:
      RenderedScenes/Scene<class>_<i>.png      the rendered scenes
      SimpleSentences/SimpleSentences1_10020.txt, SimpleSentences2_10020.txt
      Scenes_10020.txt                         optional: clip-art labels
    """
