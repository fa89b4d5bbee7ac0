"""rapportage"""
