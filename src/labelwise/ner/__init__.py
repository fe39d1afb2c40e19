"""labelwise.ner"""
