//! The CloneSet planner (spec `cloneset.md`, rules CS-n).
