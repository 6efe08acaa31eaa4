mkdir -p "$CASE" && printf '[target iqn.2021-02.com.example:t]\nlun 0 = ramdisk size=1M\n' >"$CASE/a.conf" &&
	ln -s b.conf "$CASE/b.conf" && echo "$CASE"
