"""Type aliases shared by the plugin's modules (as in ``mmseg.utils.typing``)."""
from typing import Optional, Union

from mmengine.config import ConfigDict

ConfigType = Union[ConfigDict, dict]
OptConfigType = Optional[ConfigType]
