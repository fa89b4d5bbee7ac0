"""taken"""
