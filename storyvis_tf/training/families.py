"""Model families: which networks a config builds (config.model.family) and the paper figures
they answer to. Every family trains with the same `StoryGAN` train step (either backend),
exports through the same signature (sentences in, images out) and is scored by the same
evaluator; docs/MODEL_FAMILIES.md describes each one and its departures from its paper.

  clustering     the main paper's contrastive + clustering GAN (`models.generator`,
                 `models.discriminator`; objective `objectives`);
  storygan       StoryGAN (`models.storygan_baseline`; objective `storygan_objectives`, to which
                 `objectives`' entry points hand over);
  dynamic_block  the dynamic-block GAN (`models.dynamic_block`; objective `objectives`, its
                 alignment terms switched off by its configs: the plain conditional GAN loss).
With model.text_interpolation any family's generator is wrapped in GAN-INT's
`TextInterpolation`.
"""
import keras
import ml_collections

from storyvis_tf.models.dynamic_block import DynamicBlockDiscriminator, DynamicBlockGenerator
from storyvis_tf.models.generator import StoryGenerator
from storyvis_tf.models.storygan_baseline import StoryGANDiscriminator, StoryGANGenerator
from storyvis_tf.models.text_interpolation import TextInterpolation
from storyvis_tf.training.objectives import CONTRASTIVE_SWITCHES

FAMILIES = ("clustering", "storygan", "dynamic_block")
# Trainable parameters (generator, discriminator) the papers state, and where.
PAPER_PARAMETERS = {
    "clustering": ({"generator": 72.4e6, "discriminator": 10.4e6},
                   "main paper, Table 1 (Pororo-SV)"),
    "storygan": ({"generator": 47.0e6, "discriminator": 47.2e6},
                 "dynamic-block paper, Table 1, StoryGAN row (the StoryGAN notes state none)"),
    "dynamic_block": ({"generator": 25.1e6, "discriminator": 23.5e6},
                      "dynamic-block paper, Table 1 (Pororo-SV)"),
}
# Switches the baseline families' networks do not implement: refused by name, not ignored.
_UNSUPPORTED = {
    "storygan": ("generator.frame_gru", "discriminator.label_projection",
                 "discriminator.story_condition", "discriminator.minibatch_stddev_group",
                 "losses.character_classification", "losses.r1_gamma", "losses.cluster",
                 "losses.story_image_story_sentence", "losses.image_sentence",
                 "losses.region_word", "losses.story_region_word"),
    "dynamic_block": ("generator.conditioning_augmentation", "generator.use_character_labels",
                      "generator.frame_gru", "discriminator.label_projection",
                      "discriminator.story_condition", "discriminator.minibatch_stddev_group",
                      "losses.character_classification"),
}


def model_settings(config):
    """config.model; for the config of a run made before families existed (no `model`
    section), the clustering family without GAN-INT, which is what it trained."""
    if "model" in config:
        return config.model
    return ml_collections.ConfigDict({"family": "clustering", "text_interpolation": False})


def family_name(config) -> str:
    """config.model.family, checked: a known family whose unsupported switches are off."""
    name = model_settings(config).family
    if name not in FAMILIES:
        raise ValueError(f"unknown model.family {name!r}: expected one of {', '.join(FAMILIES)}")
    for field in _UNSUPPORTED.get(name, ()):
        section, key = field.split(".")
        if config[section][key]:
            raise ValueError(f"model.family = {name!r} does not implement {field} (set it to "
                             f"{'0' if not isinstance(config[section][key], bool) else 'False'})")
    if name != "clustering" and config.generator.attention != "none":
        raise ValueError(f"model.family = {name!r} has no BWSA/WSA attention stages: set "
                         f"generator.attention = 'none' (got {config.generator.attention!r})")
    if model_settings(config).text_interpolation and config.discriminator.label_projection:
        raise ValueError("model.text_interpolation has no character labels for the "
                         "interpolated stories: switch discriminator.label_projection off")
    return name


def build_generator(config) -> keras.Model:
    """The generator of config.model.family (wrapped for GAN-INT with model.text_interpolation).
    Its call takes the `run_dir.generate_images` input dict and returns at least "images"."""
    name = family_name(config)
    if name == "storygan":
        generator = StoryGANGenerator(config, name="storygan_generator")
    elif name == "dynamic_block":
        generator = DynamicBlockGenerator(config, name="dynamic_block_generator")
    else:
        generator = StoryGenerator(config.generator, config.data.image_size,
                                   config.data.frames_per_story, config.text_encoder.hidden_dim)
    if model_settings(config).text_interpolation:
        return TextInterpolation(generator, config.model.interpolation_beta,
                                 name="text_interpolation")
    return generator


def build_baseline_discriminator(config) -> keras.Model:
    """The discriminator of a baseline family (storygan, dynamic_block); the clustering
    family's is `models.discriminator.build_discriminator`."""
    name = family_name(config)
    if name == "storygan":
        return StoryGANDiscriminator(config, name="storygan_discriminators")
    if name == "dynamic_block":
        return DynamicBlockDiscriminator(config, name="dynamic_block_discriminator")
    raise ValueError("the clustering family's discriminator is built by "
                     "models.discriminator.build_discriminator")


def trains_projection_heads(config) -> bool:
    """Whether any term of the objective reads the projection heads f, g (the clustering
    family's alignment terms or coupled discriminator); else D's optimiser leaves them out."""
    losses = config.losses
    return (family_name(config) == "clustering" or losses.cluster
            or any(losses[switch] for switch in CONTRASTIVE_SWITCHES.values()))


def parameter_report(config, counts: dict[str, int]) -> list[str]:
    """Lines of the trainer's log: each network's trainable parameters next to its paper's."""
    name = family_name(config)
    paper, source = PAPER_PARAMETERS[name]
    return [f"{network} ({name}): {counts[network] / 1e6:.2f} M trainable parameters "
            f"(paper: {paper[network] / 1e6:.1f} M, {source})"
            for network in ("generator", "discriminator")]
