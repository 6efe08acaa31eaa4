# 10 MB of bad lines: at most 100 messages, and fast.
python3 -c '
import sys
with open(sys.argv[1], "w") as f:
    f.write("[target iqn.2021-02.com.example:t]\n")
    f.write("this is not a key\n" * 580000)' "$CASE" && echo "$CASE"
