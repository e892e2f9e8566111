"""The interest matcher (no Flask, no database). Built in the matching issue."""
