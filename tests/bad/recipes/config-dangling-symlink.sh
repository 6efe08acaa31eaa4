ln -s "$CASE.target-is-missing" "$CASE" && echo "$CASE"
