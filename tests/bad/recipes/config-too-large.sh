# 17 MiB of comments: more than a target file may hold (16 MiB), refused before parsing.
python3 -c '
import sys
line = "#" + "x" * 1022 + "\n"
with open(sys.argv[1], "w") as f:
    f.write(line * (17 * 1024))' "$CASE" && echo "$CASE"
