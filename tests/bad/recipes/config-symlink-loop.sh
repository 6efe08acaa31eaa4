ln -s "$CASE" "$CASE" && echo "$CASE"
