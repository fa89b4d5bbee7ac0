"""basis"""
