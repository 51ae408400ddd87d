"""Finding image files in a folder, as the tools that take a folder of images do."""
from pathlib import Path
from typing import List, Union

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def find_images(folder: Union[str, Path]) -> List[Path]:
    """Image files under ``folder`` (searched recursively), sorted by path.

    Args:
        folder (str | Path): The folder to search.

    Returns:
        list[Path]: Files whose suffix (any case) is one of :data:`IMAGE_EXTENSIONS`.
    """
    return sorted(p for p in Path(folder).rglob('*')
                  if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
