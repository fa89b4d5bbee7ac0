"""geld"""
