"""labelwise.models"""
