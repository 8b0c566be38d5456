"""Table 4: w/o BWSA, no word attention in the generator."""
from configs import default


def get_config():
    config = default.get_config()
    config.generator.attention = "none"
    return config
