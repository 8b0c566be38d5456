"""The image sizes the story GAN can be built for: both networks climb between 4x4 features and
the frame size by factors of two (Sec. 4.2: more blocks for larger images)."""
import math


def doublings_from_4x4(image_size: int) -> int:
    """How many 2x steps lie between 4x4 features and `image_size` (a power of two >= 8)."""
    if image_size < 8 or 2 ** round(math.log2(image_size)) != image_size:
        raise ValueError(f"data.image_size must be a power of two >= 8, got {image_size}")
    return round(math.log2(image_size)) - 2
