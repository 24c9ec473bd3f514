"""Domain managers: the rules (capacity, FIFO, promotion). They receive repositories as
parameters; `default()` in each module builds one wired to DynamoDB, once per process."""
