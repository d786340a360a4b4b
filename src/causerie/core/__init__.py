"""Pure logic of causerie: protocol, matching, conversations, limits.

See README.md in this folder for the rules this package lives by.
"""
