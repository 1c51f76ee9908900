"""The budget as a target: the bounds a build must land in, the closed loop that
releases jobs until each genre's kept tokens will meet its target, and the
reserve that holds what a build kept beyond it (docs/failures.md, docs/budget.md)."""
