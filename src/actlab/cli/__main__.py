"""``python -m actlab.cli``: the same as the ``actlab`` script."""
import sys

from actlab.cli import main

sys.exit(main())
