"""opslag"""
