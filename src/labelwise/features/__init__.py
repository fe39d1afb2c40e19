"""labelwise.features"""
