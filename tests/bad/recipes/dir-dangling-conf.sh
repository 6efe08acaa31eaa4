# A dangling symlink *.conf: an error, not a target silently gone.
mkdir -p "$CASE" && printf '[target iqn.2021-02.com.example:t]\nlun 0 = ramdisk size=1M\n' >"$CASE/a.conf" &&
	ln -s /nonexistent/targets.conf "$CASE/b.conf" && echo "$CASE"
