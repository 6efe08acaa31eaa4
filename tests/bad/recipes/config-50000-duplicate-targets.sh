# 50,000 declarations of one target: every duplicate reported, in linear time.
python3 -c '
import sys
with open(sys.argv[1], "w") as f:
    f.write("[target iqn.2021-02.com.example:t]\nlun 0 = ramdisk size=1M\n" * 50000)' "$CASE" && echo "$CASE"
