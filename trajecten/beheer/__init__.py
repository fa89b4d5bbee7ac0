"""beheer"""
