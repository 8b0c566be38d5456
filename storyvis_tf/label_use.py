"""Which ground-truth frame labels a config reads: the paper claims its method needs none, so
every result says whether its run used them.

`ground_truth_label_uses(config)` -> the names of the switches of `config` that read the
frames' character labels (empty for a label-free config):
  pretrain.character_weight             encoder pretraining's character heads;
  losses.character_classification       the discriminator's auxiliary classifier;
  discriminator.label_projection        the projection discriminator's class term;
  generator.use_character_labels        labels as a generator input (the authors' code).
"""


def ground_truth_label_uses(config) -> list[str]:
    """The label-reading switches that `config` (a full experiment ConfigDict) turns on."""
    switches = {
        "pretrain.character_weight": config.pretrain.get("character_weight", 0.0) > 0,
        "losses.character_classification": config.losses.get("character_classification", False),
        "discriminator.label_projection": config.discriminator.get("label_projection", False),
        "generator.use_character_labels": config.generator.get("use_character_labels", False),
    }
    return [name for name, on in switches.items() if on]
