mkdir -p "$CASE" && ln -s /dev/zero "$CASE/z.conf" && echo "$CASE"
