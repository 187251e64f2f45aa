"""Classroom mode: a whole class labels one pool at once, each student in their own seat, the teacher sees
the class learn.

Modules: ``store`` the SQLite store every label session lives in (single-user sessions too),
``secrets`` password hashing, join codes and keys, ``room`` classrooms, joining and the teacher's
authority, ``report`` what the teacher's view shows (progress, curves per method group, strata, export).
"""

from .room import (ASSIGNMENTS, DEFAULT_METHODS, Classroom, Seat, check_teacher, clean_display_name,
                   create_classroom, find_classroom, join, list_classrooms, lookup, rejoin, set_state, teacher_login)
from .store import SCHEMA_VERSION, Store, open_store, store_path

__all__ = ["ASSIGNMENTS", "DEFAULT_METHODS", "SCHEMA_VERSION", "Classroom", "Seat", "Store", "check_teacher",
           "clean_display_name", "create_classroom", "find_classroom", "join", "list_classrooms", "lookup", "open_store",
           "rejoin", "set_state", "store_path", "teacher_login"]
