# 50,000 distinct targets and one bad value at the end: checked in seconds, refused.
python3 -c '
import sys
with open(sys.argv[1], "w") as f:
    for i in range(50000):
        f.write("[target iqn.2021-02.com.example:t%d]\nlun 0 = ramdisk size=1M\n" % i)
    f.write("attribute.authentication = 2\n")' "$CASE" && echo "$CASE"
