"""The only code that imports faust: the process around each loop (web pages, tasks,
signals)."""
