"""Shots vsae makes itself (procedural, with known answers) and the demo job that runs on one."""
