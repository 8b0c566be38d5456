"""A Keras callback that stops `fit` the way a crash would, for the resume tests of both
backends."""
import keras


class InterruptAtSecondEpoch(keras.callbacks.Callback):
    """Raises RuntimeError("interrupted") after the first step of the second epoch."""

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == 1:
            raise RuntimeError("interrupted")
