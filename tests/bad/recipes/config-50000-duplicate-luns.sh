python3 -c '
import sys
with open(sys.argv[1], "w") as f:
    f.write("[target iqn.2021-02.com.example:t]\n" + "lun 7 = ramdisk size=1M\n" * 50000)' "$CASE" && echo "$CASE"
