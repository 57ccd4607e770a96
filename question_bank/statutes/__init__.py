"""The law library: statute texts read into law versions, their articles, the diff between
two versions, and the citations that point into them."""
