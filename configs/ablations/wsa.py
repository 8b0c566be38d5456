"""Table 4: w/ WSA, AttnGAN's word-level spatial attention instead of BWSA."""
from configs import default


def get_config():
    config = default.get_config()
    config.generator.attention = "wsa"
    return config
