mkdir -p "$CASE" && ln -s c.conf "$CASE/b.conf" && ln -s b.conf "$CASE/c.conf" && echo "$CASE"
