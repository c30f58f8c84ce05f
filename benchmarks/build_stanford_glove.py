"""Build Stanford GloVe's C tools (vocab_count, cooccur, shuffle, glove) for the benchmark.

    python benchmarks/build_stanford_glove.py OUT_DIR

The C sources of Stanford GloVe (Apache-2.0, (c) 2014 The Board of Trustees of
The Leland Stanford Junior University) are taken from the source distribution of
the ``crucyble`` package (0.1.0.dev4), which bundles them with their ``main``
functions turned into plain functions (log lines are sent back to stderr, as
in the original tools, because crucyble's logging can corrupt the binary
output). This script fetches that archive from the
package index pip is configured with, checks its sha256, adds a minimal
command-line ``main`` to each tool and compiles them with gcc -O3.
"""

import hashlib
import re
import subprocess
import sys
import tarfile
import urllib.request
from pathlib import Path

PACKAGE, VERSION = "crucyble", "0.1.0.dev4"
SHA256 = "abf6d332cbde9e66e58e156e6a7af03c9312cad79437db5ee9d372335c506f28"

MAINS = {
    "vocab_count": """
int main(int argc, char **argv) {  /* vocab_count CORPUS OUT MIN_COUNT */
    return vocab_count(argv[1], argv[2], 0, 0, atoll(argv[3]), "/dev/null");
}""",
    "cooccur": """
int main(int argc, char **argv) {  /* cooccur CORPUS VOCAB OUT WINDOW SYMMETRIC TMP_PREFIX MEMORY_GB */
    return cooccur(argv[1], argv[2], argv[3], 0, atoi(argv[5]), atoi(argv[4]), argv[6], atof(argv[7]), "/dev/null");
}""",
    "shuffle": """
int main(int argc, char **argv) {  /* shuffle IN OUT TMP_PREFIX MEMORY_GB */
    return shuffle(argv[1], argv[2], argv[3], 0, atof(argv[4]));
}""",
    "glove": """
int main(int argc, char **argv) {  /* glove IN VOCAB SAVE_PREFIX THREADS ITER DIM X_MAX ALPHA ETA */
    num_threads = atoi(argv[4]); num_iter = atoi(argv[5]); vector_size = atoi(argv[6]);
    x_max = atof(argv[7]); alpha = atof(argv[8]); eta = atof(argv[9]); use_binary = 0; model = 2;
    return train(argv[1], argv[2], argv[3], "/dev/null", 0);
}""",
}


def fetch(dest: Path) -> Path:
    from pip._internal.models.index import PyPI  # the index pip itself uses; no host named here

    index = f"{PyPI.simple_url}/{PACKAGE}/"
    page = urllib.request.urlopen(index).read().decode()
    url = next(m for m in re.findall(r'href="([^"]+)"', page) if f"{PACKAGE}-{VERSION}.tar.gz" in m)
    data = urllib.request.urlopen(url.split("#")[0]).read()
    if hashlib.sha256(data).hexdigest() != SHA256:
        sys.exit("checksum mismatch for the downloaded archive")
    archive = dest / f"{PACKAGE}-{VERSION}.tar.gz"
    archive.write_bytes(data)
    return archive


def main(out="stanford_glove"):
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    archive = fetch(out)
    with tarfile.open(archive) as tar:
        tar.extractall(out, filter="data")
    src = out / f"{PACKAGE}-{VERSION}" / "src" / "lib" / "glove"
    for tool, main_code in MAINS.items():
        code = (src / f"{tool}.c").read_text()
        # crucyble closes its log file and then keeps writing to the stale FILE*, which can land
        # in the binary output; send those log lines to stderr as the original tools do
        code = code.replace("fprintf(logfile", "fprintf(stderr").replace("fclose(logfile)", "0")
        code += "\n#include <stdlib.h>\n" + main_code + "\n"
        path = out / f"{tool}_main.c"
        path.write_text(code)
        subprocess.run(
            [
                "gcc",
                "-O3",
                "-march=native",
                "-funroll-loops",
                "-pthread",
                "-w",
                f"-I{src}",
                "-o",
                str(out / tool),
                str(path),
                "-lm",
            ],
            check=True,
        )
    print(f"built {', '.join(MAINS)} in {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
