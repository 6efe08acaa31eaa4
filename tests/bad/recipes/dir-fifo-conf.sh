# A FIFO named *.conf in a target directory: reported, and the listing does not block.
mkdir -p "$CASE" && printf '[target iqn.2021-02.com.example:t]\nlun 0 = ramdisk size=1M\n' >"$CASE/a.conf" &&
	mkfifo "$CASE/b.conf" && echo "$CASE"
