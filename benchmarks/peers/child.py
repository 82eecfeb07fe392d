"""One workload of one system in a fresh interpreter: `python -m benchmarks.peers.child FUNCTION ARGS_JSON`.

Prints the function's dict result as JSON on its last line; the parent takes the wall time and the
peak RSS (os.wait4) of this process, so each workload's memory is its own.
"""

import json
import sys

from benchmarks.peers import systems


def main(argv: list[str]) -> None:
    function, args = argv[0], json.loads(argv[1])
    print(json.dumps(getattr(systems, function)(*args)))


if __name__ == "__main__":
    main(sys.argv[1:])
