"""clienten"""
