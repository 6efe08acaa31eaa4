# An 8 EiB sparse file (beyond what the parser reads): refused by its size, not read.
truncate -s 8E "$CASE" 2>/dev/null || truncate -s 1T "$CASE"
echo "$CASE"
