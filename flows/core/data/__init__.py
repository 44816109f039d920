"""Reading a table, cleaning it into an immutable snapshot, and analysing it:
statistics, associations, leaks, identifiers, alerts, slices."""
