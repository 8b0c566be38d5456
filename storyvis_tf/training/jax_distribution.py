"""Data parallelism of the story-GAN train step under the JAX backend (docs/JAX.md).

`keras.distribution.DataParallel` over the devices: every variable is replicated on each
device, each batch is split along its first (story) axis, and XLA partitions the one
global-batch program of `jax_step.JaxStoryGAN.train_step`, inserting the cross-device sums the
global means, the contrastive terms over the whole batch and batch normalisation's moments
need. So N devices compute the update one device would compute for the same global batch, up
to the order of float32 sums (tests/test_jax_training.py). It must be set before the model's
variables are created.
"""
import jax
import keras


def distribute_over_devices(batch_size: int, log=print) -> int:
    """Sets `keras.distribution.DataParallel` over all of jax.devices() when there are several
    (after `keras.distribution.initialize()` on each host of a multi-host run, those of every
    host). Refuses a batch that does not split evenly over them. Returns the device count."""
    devices = jax.devices()
    if len(devices) > 1:
        if batch_size % len(devices):
            raise ValueError(f"train.batch_size = {batch_size} stories must divide evenly over "
                             f"the {len(devices)} JAX devices")
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    log(f"training on {len(devices)} JAX device(s) ({devices[0].platform}"
        f"{', DataParallel' if len(devices) > 1 else ''})")
    return len(devices)
