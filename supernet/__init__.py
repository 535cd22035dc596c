"""supernet"""
