"""The one error for a checkpoint file that cannot be used."""


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, would run code, or does not fit the model.

    Raised by the resume check (``mmseg_psp_ext.engine.resume``) and by the loaders of the
    inference tools (``mmseg_psp_ext.deploy.loading``); the message names the file and
    what is wrong with it.
    """
